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
const REGISTER_USAGE: &str = "/register PASSWORD";
const PASSWD_USAGE: &str = "/passwd OLD NEW";
const KICK_USAGE: &str = "/kick NICK [REASON]";
const BAN_USAGE: &str = "/ban NICK [MINUTES]";
const UNBAN_USAGE: &str = "/unban NICK";
const MUTE_USAGE: &str = "/mute NICK [MINUTES]";
const UNMUTE_USAGE: &str = "/unmute NICK";
const WHOIS_USAGE: &str = "/whois NICK";

/// The longest ban or mute, in minutes: a year. Longer is "until lifted" (no MINUTES).
pub const MAX_SANCTION_MINUTES: u32 = 525_600;

/// The most messages `/history` shows at once.
pub const MAX_HISTORY_REQUEST: usize = 1000;

/// Every command with its usage and what it does: the source of `/help` and of the usage
/// errors, so the two can never disagree.
pub const COMMANDS: [(&str, &str); 12] = [
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
    (
        REGISTER_USAGE,
        "make your nickname yours: from now on it needs the password",
    ),
    (PASSWD_USAGE, "change your account's password"),
    ("/quit [MESSAGE]", "leave, with an optional parting message"),
    ("//text", "send a line that starts with a slash"),
];

/// The commands only operators may use, for their `/help`.
pub const OPERATOR_COMMANDS: [(&str, &str); 6] = [
    (KICK_USAGE, "disconnect NICK"),
    (
        BAN_USAGE,
        "disconnect NICK; neither its name nor its address may come back",
    ),
    (UNBAN_USAGE, "lift the ban on NICK"),
    (
        MUTE_USAGE,
        "NICK's chat, actions and private messages are refused",
    ),
    (UNMUTE_USAGE, "lift the mute on NICK"),
    (WHOIS_USAGE, "NICK's account, address, arrival and room"),
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
    /// `/register PASSWORD`
    Register(&'a str),
    /// `/passwd OLD NEW`
    Passwd {
        /// The password now.
        old: &'a str,
        /// The password from now on.
        new: &'a str,
    },
    /// `/kick NICK [REASON]`
    Kick {
        /// Who.
        nick: &'a str,
        /// Why, if said.
        reason: Option<&'a str>,
    },
    /// `/ban NICK [MINUTES]`: for that long, or until lifted.
    Ban {
        /// Who.
        nick: &'a str,
        /// How long, if said (1 to [`MAX_SANCTION_MINUTES`]).
        minutes: Option<u32>,
    },
    /// `/unban NICK`
    Unban(&'a str),
    /// `/mute NICK [MINUTES]`: for that long, or until lifted.
    Mute {
        /// Who.
        nick: &'a str,
        /// How long, if said.
        minutes: Option<u32>,
    },
    /// `/unmute NICK`
    Unmute(&'a str),
    /// `/whois NICK`
    Whois(&'a str),
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
        "register" => argument.map_or(Input::Usage(REGISTER_USAGE), |password| {
            Input::Command(Command::Register(password))
        }),
        "passwd" => match words(rest)[..] {
            [old, new] => Input::Command(Command::Passwd { old, new }),
            _ => Input::Usage(PASSWD_USAGE),
        },
        "kick" => match rest.split_once(char::is_whitespace) {
            _ if rest.is_empty() => Input::Usage(KICK_USAGE),
            Some((nick, reason)) => Input::Command(Command::Kick {
                nick,
                reason: Some(reason.trim()).filter(|r| !r.is_empty()),
            }),
            None => Input::Command(Command::Kick {
                nick: rest,
                reason: None,
            }),
        },
        "ban" => sanction(rest, BAN_USAGE, |nick, minutes| Command::Ban {
            nick,
            minutes,
        }),
        "mute" => sanction(rest, MUTE_USAGE, |nick, minutes| Command::Mute {
            nick,
            minutes,
        }),
        "unban" => one_word(rest, UNBAN_USAGE, Command::Unban),
        "unmute" => one_word(rest, UNMUTE_USAGE, Command::Unmute),
        "whois" => one_word(rest, WHOIS_USAGE, Command::Whois),
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

/// The whitespace-separated words of `text`, if there are at most three.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().take(3).collect()
}

/// A command that takes exactly one word.
fn one_word<'a>(
    rest: &'a str,
    usage: &'static str,
    command: impl FnOnce(&'a str) -> Command<'a>,
) -> Input<'a> {
    match words(rest)[..] {
        [word] => Input::Command(command(word)),
        _ => Input::Usage(usage),
    }
}

/// `/ban` or `/mute`: a nickname and, optionally, minutes from 1 to a year.
fn sanction<'a>(
    rest: &'a str,
    usage: &'static str,
    command: impl FnOnce(&'a str, Option<u32>) -> Command<'a>,
) -> Input<'a> {
    match words(rest)[..] {
        [nick] => Input::Command(command(nick, None)),
        [nick, minutes] => match minutes.parse::<u32>() {
            Ok(minutes) if (1..=MAX_SANCTION_MINUTES).contains(&minutes) => {
                Input::Command(command(nick, Some(minutes)))
            }
            _ => Input::Usage(usage),
        },
        _ => Input::Usage(usage),
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
        assert_eq!(parse("/register"), Input::Usage("/register PASSWORD"));
        assert_eq!(parse("/passwd onlyone"), Input::Usage("/passwd OLD NEW"));
        assert_eq!(parse("/passwd a b c"), Input::Usage("/passwd OLD NEW"));
        assert_eq!(parse("/kick"), Input::Usage("/kick NICK [REASON]"));
        assert_eq!(
            parse("/ban bob forever"),
            Input::Usage("/ban NICK [MINUTES]")
        );
        assert_eq!(parse("/ban bob 0"), Input::Usage("/ban NICK [MINUTES]"));
        assert_eq!(parse("/mute"), Input::Usage("/mute NICK [MINUTES]"));
        assert_eq!(parse("/unban a b"), Input::Usage("/unban NICK"));
        assert_eq!(parse("/whois"), Input::Usage("/whois NICK"));
    }

    #[test]
    fn account_and_operator_commands_take_their_arguments() {
        assert_eq!(
            parse("/register  s3cret pass "),
            Input::Command(Command::Register("s3cret pass"))
        );
        assert_eq!(
            parse("/passwd old new"),
            Input::Command(Command::Passwd {
                old: "old",
                new: "new"
            })
        );
        assert_eq!(
            parse("/kick bob  spamming  the room "),
            Input::Command(Command::Kick {
                nick: "bob",
                reason: Some("spamming  the room")
            })
        );
        assert_eq!(
            parse("/kick bob"),
            Input::Command(Command::Kick {
                nick: "bob",
                reason: None
            })
        );
        assert_eq!(
            parse("/BAN bob 30"),
            Input::Command(Command::Ban {
                nick: "bob",
                minutes: Some(30)
            })
        );
        assert_eq!(
            parse("/mute bob"),
            Input::Command(Command::Mute {
                nick: "bob",
                minutes: None
            })
        );
        assert_eq!(parse("/unmute bob"), Input::Command(Command::Unmute("bob")));
        assert_eq!(parse("/unban bob"), Input::Command(Command::Unban("bob")));
        assert_eq!(parse("/whois bob"), Input::Command(Command::Whois("bob")));
    }

    #[test]
    fn unknown_commands_are_named() {
        assert_eq!(parse("/dance now"), Input::Unknown("/dance"));
        assert_eq!(parse("/"), Input::Unknown("/"));
    }
}
