//! Every environment variable the command line reads (`env = ...` on an option) is accepted by
//! the configuration loader without a "not a pgroles setting" warning: `pgroles verify --help`
//! advertises `PGROLES_VERIFY_URL`, so `pgroles verify` must not call it a typo.

use clap::CommandFactory;
use pgroles::config::Config;
use std::collections::BTreeMap;

fn env_vars(cmd: &clap::Command, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if let Some(env) = arg.get_env().and_then(|e| e.to_str()) {
            out.push(env.to_string());
        }
    }
    for sub in cmd.get_subcommands() {
        env_vars(sub, out);
    }
}

#[test]
fn every_env_var_of_the_command_line_is_known_to_the_config_loader() {
    let mut vars = Vec::new();
    env_vars(&pgroles::cli::Cli::command(), &mut vars);
    assert!(vars.iter().any(|v| v == "PGROLES_VERIFY_URL"), "{vars:?}");
    for var in vars.iter().filter(|v| v.starts_with("PGROLES_")) {
        let env: BTreeMap<String, String> = [(var.clone(), "x".to_string())].into();
        let loaded = Config::load(None, &env).expect("load");
        assert!(loaded.warnings.is_empty(), "{var}: {:?}", loaded.warnings);
    }
}

#[test]
fn a_typo_is_still_reported() {
    let env: BTreeMap<String, String> = [("PGROLES_VERIFY_ULR".to_string(), "x".into())].into();
    let loaded = Config::load(None, &env).expect("load");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
}
