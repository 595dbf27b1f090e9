// Definitions of the op table's reduce family (include/mlxc/ops/reduce.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/reduce.def"
MLXC_END_OPS
