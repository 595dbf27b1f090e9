// Definitions of the op table's fast family (include/mlxc/ops/fast.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/fast.def"
MLXC_END_OPS
