//! Times baseline regeneration for bench/baseline_regen.sh:
//! `baseline_regen TREE BASELINE RUNS` prints the median wall time in
//! milliseconds of relocation by hash, then the number of findings kept.

use std::time::Instant;

use statebox::merge::baseline::Baseline;
use statebox::worktree::regen;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tree, baseline_path, runs] = args.as_slice() else {
        eprintln!("usage: baseline_regen TREE BASELINE RUNS");
        std::process::exit(2);
    };
    let runs: usize = runs.parse().expect("RUNS is a number");
    let tree = std::path::Path::new(tree);
    let text = std::fs::read_to_string(tree.join(baseline_path)).expect("baseline readable");
    let merged = Baseline::parse(&text).expect("baseline parses");
    let mut times = Vec::new();
    let mut kept = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let (relocated, _) = regen::relocate(tree, baseline_path, &merged).expect("relocation");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        kept = relocated.findings().count();
    }
    times.sort_by(f64::total_cmp);
    println!("{:.1} {kept}", times[times.len() / 2]);
}
