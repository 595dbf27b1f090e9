/*
 * The op table, as C declarations.
 *
 * Each line of ops/<family>.def is one op:
 *
 *     MLXC_OP(R, name, (params...), C++ expression)
 *
 * and declares `int mlxc_<name>(mlxc_<R>* res, params..., mlxc_stream s)`, where R is `array` or
 * `vector_array`. The same lines, expanded with another MLXC_OP in src/, define the functions:
 * the expression is evaluated under the library's lock and its result stored in `*res`. Adding an
 * op is adding a line.
 */
#ifndef MLXC_OPS_H
#define MLXC_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

#define MLXC_PARAMS(...) __VA_ARGS__
#define MLXC_OP(R, name, params, ...) int mlxc_##name(mlxc_##R* res, MLXC_PARAMS params, mlxc_stream s);
#include "mlxc/ops/all.def"
#undef MLXC_OP

#ifdef __cplusplus
}
#endif

#endif /* MLXC_OPS_H */
