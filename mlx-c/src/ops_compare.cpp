// Definitions of the op table's compare family (include/mlxc/ops/compare.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/compare.def"
MLXC_END_OPS
