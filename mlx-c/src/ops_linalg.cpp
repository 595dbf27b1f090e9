// Definitions of the op table's linalg family (include/mlxc/ops/linalg.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/linalg.def"
MLXC_END_OPS
