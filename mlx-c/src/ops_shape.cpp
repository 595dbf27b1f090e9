// Definitions of the op table's shape family (include/mlxc/ops/shape.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/shape.def"
MLXC_END_OPS
