// Definitions of the op table's fft family (include/mlxc/ops/fft.def).
#include "internal.hpp"

MLXC_DEFINE_OPS
#include "mlxc/ops/fft.def"
MLXC_END_OPS
