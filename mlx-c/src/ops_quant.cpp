// Definitions of the op table's quant family (include/mlxc/ops/quant.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/quant.def"
MLXC_END_OPS
