// Definitions of the op table's sort family (include/mlxc/ops/sort.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/sort.def"
MLXC_END_OPS
