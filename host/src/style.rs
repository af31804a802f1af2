//! Colour for text meant for a person at a terminal: decisions and test
//! results stand out. Off when output goes to a file or pipe, when
//! `NO_COLOR` is set, or on a dumb terminal, unless asked for.

use std::io::IsTerminal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    enabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl Style {
    pub const PLAIN: Style = Style { enabled: false };

    /// The style for standard output under the user's choice.
    pub fn for_stdout(choice: ColorChoice) -> Style {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Style { enabled }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn bad(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn caution(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// A health state in the colour of its meaning.
    pub fn health(self, state: &str) -> String {
        match state {
            "healthy" => self.good(state),
            "failed" => self.bad(state),
            _ => self.caution(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_carries_no_escape_codes() {
        assert_eq!(Style::PLAIN.health("failed"), "failed");
        assert_eq!(Style::for_stdout(ColorChoice::Never).bad("x"), "x");
        assert_eq!(Style::for_stdout(ColorChoice::Always).bad("x"), "\x1b[1;31mx\x1b[0m");
    }
}
