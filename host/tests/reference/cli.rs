//! The command-line reference, from the clap definitions the binary parses
//! with (`rewind::cli`).

use clap::CommandFactory;

pub fn page() -> String {
    let mut cli = rewind::cli::Cli::command();
    cli.build();
    let mut page = String::from(
        "# Command line\n\nGenerated from the `rewind` binary's own argument definitions; `rewind <command> --help` prints the same text.\n\n",
    );
    page.push_str(&format!("{}\n\n", cli.get_about().map(|a| a.to_string()).unwrap_or_default()));
    page.push_str("| Command | What it does |\n|---|---|\n");
    for command in cli.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help") {
        let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
        page.push_str(&format!(
            "| [`rewind {0}`](#rewind-{0}) | {1} |\n",
            command.get_name(),
            about.replace('|', "\\|")
        ));
    }
    if let Some(after) = cli.get_after_help() {
        page.push_str(&format!("\n```text\n{after}\n```\n"));
    }
    for command in cli.get_subcommands_mut().filter(|c| !c.is_hide_set() && c.get_name() != "help") {
        page.push_str(&section(command));
    }
    page
}

fn section(command: &mut clap::Command) -> String {
    let name = command.get_name().to_string();
    let usage = command.render_usage().to_string().replace("Usage: ", "");
    let mut text = format!("\n## rewind {name}\n\n");
    text.push_str(&format!(
        "{}\n\n```text\n{usage}\n```\n",
        command.get_about().map(|a| a.to_string()).unwrap_or_default()
    ));
    let mut heading: Option<String> = None;
    let mut started = false;
    for arg in command.get_arguments().filter(|a| !a.is_hide_set() && a.get_id() != "help") {
        let this =
            arg.get_help_heading().map(str::to_string).or_else(|| arg.is_positional().then(|| "Arguments".to_string()));
        if !started || this != heading {
            let title = this.clone().unwrap_or_else(|| "Options".to_string());
            text.push_str(&format!("\n**{title}**\n\n| Argument | Description |\n|---|---|\n"));
            heading = this;
            started = true;
        }
        text.push_str(&format!("| {} | {} |\n", signature(arg), describe(arg)));
    }
    if let Some(after) = command.get_after_help() {
        text.push_str(&format!("\n```text\n{after}\n```\n"));
    }
    text
}

/// `--policy <REFERENCE>`, `-n, --namespace <NAMESPACE>`, `<NAME>`.
fn signature(arg: &clap::Arg) -> String {
    let value = arg.get_value_names().map(|names| names.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>().join(" "));
    let value = value.unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    let takes_value = arg.get_action().takes_values();
    let mut flags = Vec::new();
    if let Some(short) = arg.get_short() {
        flags.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        flags.push(format!("--{long}"));
    }
    let text = match (flags.is_empty(), takes_value) {
        (true, _) => value,
        (false, true) => format!("{} {value}", flags.join(", ")),
        (false, false) => flags.join(", "),
    };
    format!("`{text}`")
}

fn describe(arg: &clap::Arg) -> String {
    let mut text = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
    if !text.ends_with('.') {
        text.push('.');
    }
    let values: Vec<String> =
        arg.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| format!("`{}`", v.get_name())).collect();
    if !values.is_empty() && arg.get_action().takes_values() {
        text.push_str(&format!(" One of {}.", values.join(", ")));
    }
    let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().to_string()).collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        text.push_str(&format!(" Default: `{}`.", defaults.join(" ")));
    }
    if arg.is_required_set() {
        text.push_str(" Required.");
    }
    super::schema::cell(&text)
}
