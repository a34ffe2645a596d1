//! `cargo xtask validate`: the CI checks, cheapest first, for local use.

use std::process::Command;

/// One check: a label and the command line it runs.
struct Check {
    label: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const CHECKS: &[Check] = &[
    Check {
        label: "format",
        program: "cargo",
        args: &["fmt", "--all", "--check"],
        env: &[],
    },
    Check {
        label: "clippy (all targets, -D warnings)",
        program: "cargo",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Check {
        label: "tests (Flex lane)",
        program: "cargo",
        args: &["test", "--workspace"],
        env: &[],
    },
    Check {
        label: "docs (broken intra-doc links denied)",
        program: "cargo",
        args: &["doc", "--workspace", "--no-deps"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
];

/// Runs every check in order and stops at the first failure.
///
/// `with_wgpu` adds the Wgpu test lane (slow on software Vulkan); `with_cuda` adds clippy over
/// the CUDA builds (the facade's `cuda`, the Cuda test lane, the `gpubench` example).
pub fn run(with_wgpu: bool, with_cuda: bool) -> Result<(), String> {
    let mut checks: Vec<&Check> = CHECKS.iter().collect();
    let wgpu = Check {
        label: "tests (Wgpu lane)",
        program: "cargo",
        args: &[
            "test",
            "--workspace",
            "--features",
            "preferent-testkit/wgpu",
        ],
        env: &[],
    };
    let cuda = Check {
        label: "cuda feature builds (facade, Cuda test lane, GPU benchmark; clippy)",
        program: "cargo",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            "cuda,preferent-testkit/cuda,xtask/cuda,xtask/wgpu",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    };
    if with_wgpu {
        checks.push(&wgpu);
    }
    if with_cuda {
        checks.push(&cuda);
    }
    for (i, check) in checks.iter().enumerate() {
        eprintln!("[{}/{}] {}", i + 1, checks.len(), check.label);
        let status = Command::new(check.program)
            .args(check.args)
            .envs(check.env.iter().copied())
            .status()
            .map_err(|e| format!("{}: could not start `{}`: {e}", check.label, check.program))?;
        if !status.success() {
            return Err(format!("{} failed ({status})", check.label));
        }
    }
    eprintln!("all {} checks passed", checks.len());
    Ok(())
}
