//! Optimizers and schedules against Python MLX and closed forms.
