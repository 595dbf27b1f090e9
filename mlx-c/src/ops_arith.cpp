// Definitions of the op table's arith family (include/mlxc/ops/arith.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/arith.def"
MLXC_END_OPS
