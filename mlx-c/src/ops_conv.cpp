// Definitions of the op table's conv family (include/mlxc/ops/conv.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/conv.def"
MLXC_END_OPS
