// Definitions of the op table's index family (include/mlxc/ops/index.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/index.def"
MLXC_END_OPS
