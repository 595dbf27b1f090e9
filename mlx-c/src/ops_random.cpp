// Definitions of the op table's random family (include/mlxc/ops/random.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/random.def"
MLXC_END_OPS
