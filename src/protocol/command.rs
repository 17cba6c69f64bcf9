//! Reading a chat line as a command, or as plain chat.
//!
//! A line starting with `/` is a command; its name is case-insensitive. `//text` is the
//! escape for chat that starts with a slash. Parsing only splits the line: whether a
//! nickname or room exists is for the hub to decide.

const NICK_USAGE: &str = "/nick NEW";
const ME_USAGE: &str = "/me ACTION";
const MSG_USAGE: &str = "/msg NICK TEXT";
const JOIN_USAGE: &str = "/join #room";
const HISTORY_USAGE: &str = "/history [N]";

/// The most messages `/history` shows at once.
pub const MAX_HISTORY_REQUEST: usize = 1000;

/// Every command with its usage and what it does: the source of `/help` and of the usage
/// errors, so the two can never disagree.
pub const COMMANDS: [(&str, &str); 10] = [
    ("/help", "list the commands"),
    (NICK_USAGE, "change your nickname"),
    ("/who", "list the members of your room"),
    (ME_USAGE, "act: the room sees \"* yournick ACTION\""),
    (MSG_USAGE, "send TEXT to NICK only"),
    (
        JOIN_USAGE,
        "leave your room and enter #room (created if new)",
    ),
    ("/rooms", "list the rooms and how many are in each"),
    (
        HISTORY_USAGE,
        "show the last N messages of your room (up to 1000)",
    ),
    ("/quit [MESSAGE]", "leave, with an optional parting message"),
    ("//text", "send a line that starts with a slash"),
];

/// A line, understood.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Chat text for the room (a `//` escape already undone).
    Chat(&'a str),
    /// A well-formed command.
    Command(Command<'a>),
    /// A known command without the arguments it needs, or with ones it cannot take; holds
    /// its usage line.
    Usage(&'static str),
    /// A command nobody knows; holds the name as typed.
    Unknown(&'a str),
}

/// The commands of contract item 6.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `/help`
    Help,
    /// `/nick NEW`
    Nick(&'a str),
    /// `/who`
    Who,
    /// `/me ACTION`
    Me(&'a str),
    /// `/msg NICK TEXT`
    Msg {
        /// The nickname as typed.
        to: &'a str,
        /// The message.
        text: &'a str,
    },
    /// `/join #room`
    Join(&'a str),
    /// `/rooms`
    Rooms,
    /// `/quit [MESSAGE]`
    Quit(Option<&'a str>),
    /// `/history [N]`: N from 1 to [`MAX_HISTORY_REQUEST`], if given.
    History(Option<usize>),
}

/// Reads one (already sanitised, non-blank) line.
pub fn parse(line: &str) -> Input<'_> {
    if line.starts_with("//") {
        return Input::Chat(&line[1..]);
    }
    let Some(command) = line.strip_prefix('/') else {
        return Input::Chat(line);
    };
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    let rest = rest.trim();
    let argument = (!rest.is_empty()).then_some(rest);
    match name.to_ascii_lowercase().as_str() {
        "help" => Input::Command(Command::Help),
        "nick" => argument.map_or(Input::Usage(NICK_USAGE), |nick| {
            Input::Command(Command::Nick(nick))
        }),
        "who" => Input::Command(Command::Who),
        "me" => argument.map_or(Input::Usage(ME_USAGE), |action| {
            Input::Command(Command::Me(action))
        }),
        "msg" => match rest.split_once(char::is_whitespace) {
            Some((to, text)) if !text.trim().is_empty() => Input::Command(Command::Msg {
                to,
                text: text.trim_start(),
            }),
            _ => Input::Usage(MSG_USAGE),
        },
        "join" => argument.map_or(Input::Usage(JOIN_USAGE), |room| {
            Input::Command(Command::Join(room))
        }),
        "rooms" => Input::Command(Command::Rooms),
        "quit" => Input::Command(Command::Quit(argument)),
        "history" => match argument.map(str::parse::<usize>) {
            None => Input::Command(Command::History(None)),
            Some(Ok(n)) if (1..=MAX_HISTORY_REQUEST).contains(&n) => {
                Input::Command(Command::History(Some(n)))
            }
            Some(_) => Input::Usage(HISTORY_USAGE),
        },
        _ => Input::Unknown(line.split_whitespace().next().unwrap_or(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_and_the_double_slash_escape_are_chat() {
        assert_eq!(parse("hello /there"), Input::Chat("hello /there"));
        assert_eq!(parse("//help me"), Input::Chat("/help me"));
        assert_eq!(parse(" /help"), Input::Chat(" /help"));
    }

    #[test]
    fn commands_are_case_insensitive_and_trim_their_arguments() {
        assert_eq!(parse("/HELP"), Input::Command(Command::Help));
        assert_eq!(parse("/Nick   bob  "), Input::Command(Command::Nick("bob")));
        assert_eq!(parse("/WHO"), Input::Command(Command::Who));
        assert_eq!(
            parse("/me waves  hello"),
            Input::Command(Command::Me("waves  hello"))
        );
        assert_eq!(
            parse("/msg bob  hi  there"),
            Input::Command(Command::Msg {
                to: "bob",
                text: "hi  there"
            })
        );
        assert_eq!(parse("/join #rust"), Input::Command(Command::Join("#rust")));
        assert_eq!(parse("/Rooms"), Input::Command(Command::Rooms));
        assert_eq!(parse("/quit"), Input::Command(Command::Quit(None)));
        assert_eq!(
            parse("/quit see you"),
            Input::Command(Command::Quit(Some("see you")))
        );
        assert_eq!(parse("/help\textra"), Input::Command(Command::Help));
        assert_eq!(parse("/history"), Input::Command(Command::History(None)));
        assert_eq!(
            parse("/HISTORY 50"),
            Input::Command(Command::History(Some(50)))
        );
    }

    #[test]
    fn missing_arguments_give_the_usage() {
        assert_eq!(parse("/nick"), Input::Usage("/nick NEW"));
        assert_eq!(parse("/me   "), Input::Usage("/me ACTION"));
        assert_eq!(parse("/msg bob"), Input::Usage("/msg NICK TEXT"));
        assert_eq!(parse("/msg bob   "), Input::Usage("/msg NICK TEXT"));
        assert_eq!(parse("/join"), Input::Usage("/join #room"));
        assert_eq!(parse("/history 0"), Input::Usage("/history [N]"));
        assert_eq!(parse("/history 1001"), Input::Usage("/history [N]"));
        assert_eq!(parse("/history lots"), Input::Usage("/history [N]"));
    }

    #[test]
    fn unknown_commands_are_named() {
        assert_eq!(parse("/dance now"), Input::Unknown("/dance"));
        assert_eq!(parse("/"), Input::Unknown("/"));
    }
}
