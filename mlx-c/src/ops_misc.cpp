// Definitions of the op table's misc family (include/mlxc/ops/misc.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/misc.def"
MLXC_END_OPS
