/*
 * File IO: NumPy's .npy format, safetensors and GGUF.
 *
 * Paths are used exactly as given (unlike MLX's Python API, no ".npy", ".safetensors" or ".gguf"
 * suffix is appended). Loading reads on the CPU and evaluates at once, so a missing, truncated or
 * corrupt file is reported by the load call itself, and the file may change afterwards.
 */
#ifndef MLXC_IO_H
#define MLXC_IO_H

#ifdef __cplusplus
extern "C" {
#endif

/** Named arrays and string metadata read from a file. Free with mlxc_tensor_map_free. */
typedef struct mlxc_tensor_map_s* mlxc_tensor_map;
/**
 * Named arrays and GGUF metadata: read from a file, or filled in to be written. Free with
 * mlxc_gguf_map_free.
 */
typedef struct mlxc_gguf_map_s* mlxc_gguf_map;

/** What a GGUF metadata value holds. */
typedef enum mlxc_gguf_kind {
  MLXC_GGUF_NONE = 0,    /* nothing (MLX's writer rejects it) */
  MLXC_GGUF_ARRAY = 1,   /* an array: 0-d for a single number, 1-d for a list of numbers */
  MLXC_GGUF_STRING = 2,  /* a string */
  MLXC_GGUF_STRINGS = 3, /* a list of strings */
} mlxc_gguf_kind;

/** Writes `a` to `path` in .npy format. */
int mlxc_save_npy(const char* path, mlxc_array a);
/** Reads a .npy file. */
int mlxc_load_npy(mlxc_array* res, const char* path);
/** `a` in .npy format, as a new buffer of `*len` bytes (free with mlxc_bytes_free). */
int mlxc_npy_to_bytes(uint8_t** data, size_t* len, mlxc_array a);
/** Parses `len` bytes of .npy data (copied). */
int mlxc_npy_from_bytes(mlxc_array* res, const uint8_t* data, size_t len);
/** Frees a buffer returned by this library. */
void mlxc_bytes_free(uint8_t* data);

/**
 * Writes `n` named arrays and `n_meta` metadata entries to `path` in safetensors format. Names
 * and metadata are NUL-terminated UTF-8.
 */
int mlxc_save_safetensors(const char* path, const char* const* names, const mlxc_array* arrays,
                          size_t n, const char* const* meta_keys, const char* const* meta_values,
                          size_t n_meta);
/** Reads a safetensors file: its arrays and its metadata. */
int mlxc_load_safetensors(mlxc_tensor_map* res, const char* path);

/** Number of arrays in the map. */
size_t mlxc_tensor_map_size(mlxc_tensor_map m);
/** Name of array `i` (`*len` bytes, not NUL-terminated), valid while `m` lives. */
const char* mlxc_tensor_map_name(mlxc_tensor_map m, size_t i, size_t* len);
/** A new handle to array `i`. */
int mlxc_tensor_map_array(mlxc_array* res, mlxc_tensor_map m, size_t i);
/** Number of metadata entries. */
size_t mlxc_tensor_map_metadata_size(mlxc_tensor_map m);
/** Key of metadata entry `i` (`*len` bytes), valid while `m` lives. */
const char* mlxc_tensor_map_metadata_key(mlxc_tensor_map m, size_t i, size_t* len);
/** Value of metadata entry `i` (`*len` bytes), valid while `m` lives. */
const char* mlxc_tensor_map_metadata_value(mlxc_tensor_map m, size_t i, size_t* len);
void mlxc_tensor_map_free(mlxc_tensor_map m);

/*
 * GGUF. Names, keys and strings are byte strings with explicit lengths (GGUF stores lengths, so
 * they may hold NUL bytes; GGUF expects UTF-8). Arrays of float32, float16, int8, int16 and int32
 * can be written; metadata arrays are 0-d or 1-d, non-empty, of bool, (u)int8 to (u)int64 or
 * float32. Reading also accepts bfloat16 and quantized tensors, as MLX's reader does (see its
 * documentation). MLX's reader opens the file for writing too (it maps it writable), so a file
 * without write permission cannot be read.
 */

/** An empty map, to fill with the mlxc_gguf_map_add_* functions and pass to mlxc_save_gguf. */
int mlxc_gguf_map_new(mlxc_gguf_map* res);
/** Adds a named array (names are unique). */
int mlxc_gguf_map_add_array(mlxc_gguf_map m, const char* name, size_t name_len, mlxc_array a);
/** Adds a metadata entry holding nothing (keys are unique; MLX's writer rejects it). */
int mlxc_gguf_map_add_metadata_none(mlxc_gguf_map m, const char* key, size_t key_len);
/** Adds an array metadata entry. */
int mlxc_gguf_map_add_metadata_array(mlxc_gguf_map m, const char* key, size_t key_len,
                                     mlxc_array a);
/** Adds a string metadata entry. */
int mlxc_gguf_map_add_metadata_string(mlxc_gguf_map m, const char* key, size_t key_len,
                                      const char* value, size_t value_len);
/** Adds a metadata entry holding `n` strings (`values[i]` has `lens[i]` bytes). */
int mlxc_gguf_map_add_metadata_strings(mlxc_gguf_map m, const char* key, size_t key_len,
                                       const char* const* values, const size_t* lens, size_t n);
/**
 * Writes the arrays and metadata of `m` to `path` in GGUF format. The file is written under a
 * temporary name next to `path` and then renamed, so a failed save leaves `path` as it was.
 */
int mlxc_save_gguf(const char* path, mlxc_gguf_map m);
/**
 * Reads a GGUF file: its arrays and its metadata. MLX's reader trusts the file's structure: a
 * corrupt file can crash the process, so check untrusted files first (the `mlx` crate does).
 */
int mlxc_load_gguf(mlxc_gguf_map* res, const char* path);

/** Number of arrays in the map. */
size_t mlxc_gguf_map_size(mlxc_gguf_map m);
/** Name of array `i` (`*len` bytes), valid while `m` lives and is not added to. */
const char* mlxc_gguf_map_name(mlxc_gguf_map m, size_t i, size_t* len);
/** A new handle to array `i`. */
int mlxc_gguf_map_array(mlxc_array* res, mlxc_gguf_map m, size_t i);
/** Number of metadata entries. */
size_t mlxc_gguf_map_metadata_size(mlxc_gguf_map m);
/** Key of metadata entry `i` (`*len` bytes), valid while `m` lives and is not added to. */
const char* mlxc_gguf_map_metadata_key(mlxc_gguf_map m, size_t i, size_t* len);
/** What metadata entry `i` holds (MLXC_GGUF_NONE also when `i` is out of range). */
mlxc_gguf_kind mlxc_gguf_map_metadata_kind(mlxc_gguf_map m, size_t i);
/** A new handle to the array of metadata entry `i` (fails unless its kind is MLXC_GGUF_ARRAY). */
int mlxc_gguf_map_metadata_array(mlxc_array* res, mlxc_gguf_map m, size_t i);
/** The string of metadata entry `i` (`*len` bytes), or NULL unless its kind is MLXC_GGUF_STRING. */
const char* mlxc_gguf_map_metadata_string(mlxc_gguf_map m, size_t i, size_t* len);
/** Number of strings of metadata entry `i` (0 unless its kind is MLXC_GGUF_STRINGS). */
size_t mlxc_gguf_map_metadata_strings_size(mlxc_gguf_map m, size_t i);
/** String `j` of metadata entry `i` (`*len` bytes), or NULL when out of range. */
const char* mlxc_gguf_map_metadata_strings_get(mlxc_gguf_map m, size_t i, size_t j, size_t* len);
void mlxc_gguf_map_free(mlxc_gguf_map m);

#ifdef __cplusplus
}
#endif

#endif /* MLXC_IO_H */
