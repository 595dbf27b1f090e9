//! `mlx-bench census`: how many of each MLX primitive one training step builds, burn-mlx beside
//! native MLX (`mlx.nn`, eager).
//!
//! Each side runs the warm-up steps, waits for them, then builds one more step and counts the
//! primitives its pending graph holds (`export_to_dot`). burn-mlx's depth bound is raised first,
//! so that nothing of the step is evaluated early. Where a count differs, burn-mlx's
//! composition of a Burn op does more (or other) work than `mlx.nn`'s: the place to look when a
//! step is slower than native MLX. Views (`Reshape`, `Broadcast`, `Transpose`, …) launch no
//! kernel; copies, reductions, element-wise ops and products do.

use std::collections::BTreeMap;

use burn::backend::Autodiff;
use burn_mlx::{Mlx, MlxDevice};

use crate::burn_cases;
use crate::cases::{Case, Target};
use crate::peers::Options;
use crate::python::{Line, MLX_SCRIPT, PythonSetup};

/// Primitive name → count.
pub type Census = BTreeMap<String, usize>;

/// Counts the rectangles (primitives) of a DOT graph by label.
pub fn count_primitives(dot: &str) -> Census {
    let mut census = Census::new();
    for line in dot.lines().filter(|l| l.contains("shape=rectangle")) {
        if let Some(label) = line
            .split_once("label =\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(label, _)| label)
        {
            *census.entry(label.to_string()).or_default() += 1;
        }
    }
    census
}

/// Prints, for every training case of `options`, burn-mlx's census beside native MLX's.
pub fn run(options: &Options) -> Result<(), String> {
    let cases: Vec<Case> = options.cases()?.into_iter().filter(Case::trains).collect();
    if cases.is_empty() {
        return Err("census: none of the selected cases is a training step".into());
    }
    let device = match options.target {
        Target::Cpu => MlxDevice::Cpu,
        Target::Gpu => MlxDevice::Gpu,
    };
    // The whole step stays pending: no early evaluation at the depth bound.
    burn_mlx::compile::set_enabled(false);
    burn_mlx::eval::set_max_graph_depth(u32::MAX);
    let mut ours = BTreeMap::new();
    for case in &cases {
        let mut census = Ok(Census::new());
        burn_cases::inspect_step::<Autodiff<Mlx>>(case, &device, options.warmup, &mut || {
            census = burn_mlx::eval::pending_graph_dot()
                .map(|dot| count_primitives(&dot))
                .map_err(|e| e.to_string());
        });
        ours.insert(case.id.clone(), census?);
    }

    let mut native: BTreeMap<String, Census> = BTreeMap::new();
    let mut problems = Vec::new();
    match PythonSetup::find(options.python.clone(), options.scripts.clone()) {
        Ok(setup) => {
            let outcome = setup.run(
                MLX_SCRIPT,
                &cases,
                options.target,
                (options.warmup, 1),
                &["--census"],
                |line| match line {
                    Line::Census { case, census, .. } => {
                        native.insert(case, census);
                    }
                    Line::Failed { case, error, .. } => problems.push(format!("{case}: {error}")),
                    Line::Skip { skip } => problems.push(skip),
                    _ => {}
                },
            );
            if let Err(e) = outcome {
                problems.push(e);
            }
        }
        Err(e) => problems.push(e),
    }

    for case in &cases {
        let empty = Census::new();
        let theirs = native.get(&case.id);
        println!(
            "{}",
            table(&case.label(), &ours[&case.id], theirs.unwrap_or(&empty))
        );
    }
    for problem in problems {
        println!("native MLX: {problem}");
    }
    Ok(())
}

/// One case's table: a row per primitive (most frequent first), then the totals.
pub fn table(label: &str, ours: &Census, theirs: &Census) -> String {
    let mut names: Vec<&String> = ours.keys().chain(theirs.keys()).collect();
    names.sort();
    names.dedup();
    let count = |c: &Census, n: &str| c.get(n).copied().unwrap_or(0);
    names.sort_by_key(|n| std::cmp::Reverse(count(ours, n).max(count(theirs, n))));
    let mut out = format!(
        "{label}\n  {:<28} {:>8} {:>10}\n",
        "primitive", "burn-mlx", "MLX eager"
    );
    for name in names {
        let (a, b) = (count(ours, name), count(theirs, name));
        let mark = if a != b { " *" } else { "" };
        out += &format!("  {name:<28} {a:>8} {b:>10}{mark}\n");
    }
    let total = |c: &Census| c.values().sum::<usize>();
    out += &format!(
        "  {:<28} {:>8} {:>10}\n",
        "total",
        total(ours),
        total(theirs)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rectangles_by_label_and_ignores_arrays() {
        let dot = "digraph {\n{ rank=source; \"A\"; }\n{ 1 [label =\"Exp\", shape=rectangle]; }\n\
                   \"A\" -> 1\n{ 2 [label =\"ScatterAxis Sum\", shape=rectangle]; }\n\
                   { 3 [label =\"Exp\", shape=rectangle]; }\n{ \"B\"; }\n}";
        let census = count_primitives(dot);
        assert_eq!(census.get("Exp"), Some(&2));
        assert_eq!(census.get("ScatterAxis Sum"), Some(&1));
        assert_eq!(census.len(), 2);
    }

    #[test]
    fn the_table_marks_differences_and_sums() {
        let ours = Census::from([("Add".to_string(), 3), ("Exp".to_string(), 1)]);
        let theirs = Census::from([("Add".to_string(), 3), ("Erf".to_string(), 2)]);
        let t = table("case", &ours, &theirs);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[2].contains("Add") && !lines[2].ends_with('*'), "{t}");
        assert!(t.contains("Erf") && t.lines().any(|l| l.contains("Exp") && l.ends_with('*')));
        assert!(lines.last().unwrap().contains('4') && lines.last().unwrap().contains('5'));
    }
}
