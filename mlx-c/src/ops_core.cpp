// Definitions of the op table's core family (include/mlxc/ops/core.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/core.def"
MLXC_END_OPS
