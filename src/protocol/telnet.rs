//! The minimum of Telnet (RFC 854, RFC 860) a line server owes a `telnet` client.
//!
//! `telnet` mixes commands into its byte stream: option negotiation (`IAC DO x`), commands
//! (`IAC IP` when the user presses Ctrl-C, then `IAC DO TIMING-MARK`), subnegotiation.
//! Relayed as chat they would show up as `����`, and `telnet` would wait forever for the
//! timing mark it asked for. This state machine takes those sequences out of the stream one
//! byte at a time: it refuses every option (so the client stays in its default line mode),
//! answers `DO TIMING-MARK` with `WILL TIMING-MARK` (so the client shows output again),
//! reports `IP`, `BRK` and `EOF` as a wish to leave, and turns `IAC IAC` back into the
//! literal byte 0xFF. Bytes outside a sequence never pass through it: the line decoder only
//! calls it at an `IAC`.

/// "Interpret as command": starts every Telnet sequence.
pub const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const IP: u8 = 244;
const BRK: u8 = 243;
/// End of file (RFC 1184), what some clients send for Ctrl-D.
const EOF: u8 = 236;
/// The TIMING-MARK option (RFC 860).
const TIMING_MARK: u8 = 6;

/// Where the decoder is inside a Telnet sequence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Telnet {
    /// Not in a sequence: ordinary data.
    #[default]
    Data,
    /// Just after an `IAC`.
    Command,
    /// After `IAC` and one of WILL, WONT, DO, DONT: the option byte comes next.
    Option(u8),
    /// Inside a subnegotiation (`IAC SB ... IAC SE`), whose bytes are skipped.
    Sub,
    /// Inside a subnegotiation, just after an `IAC`.
    SubCommand,
}

/// What one byte of a sequence amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing for the line: the sequence goes on, or ended without effect.
    Nothing,
    /// A data byte that had to be escaped (`IAC IAC` is 0xFF).
    Data(u8),
    /// Send these bytes back to the client.
    Reply([u8; 3]),
    /// The user asked to leave (`IP`, `BRK`, `EOF`).
    Leave,
}

impl Telnet {
    /// True while inside a sequence, so that the next byte must go through [`Telnet::step`].
    pub fn in_sequence(self) -> bool {
        self != Telnet::Data
    }

    /// Takes one byte of a sequence (the `IAC` that starts one included).
    pub fn step(&mut self, byte: u8) -> Step {
        let (next, step) = match (*self, byte) {
            (Telnet::Data, IAC) => (Telnet::Command, Step::Nothing),
            (Telnet::Data, other) => (Telnet::Data, Step::Data(other)),
            (Telnet::Command, IAC) => (Telnet::Data, Step::Data(IAC)),
            (Telnet::Command, WILL | WONT | DO | DONT) => (Telnet::Option(byte), Step::Nothing),
            (Telnet::Command, SB) => (Telnet::Sub, Step::Nothing),
            (Telnet::Command, IP | BRK | EOF) => (Telnet::Data, Step::Leave),
            (Telnet::Command, _) => (Telnet::Data, Step::Nothing),
            (Telnet::Option(DO), TIMING_MARK) => (Telnet::Data, Step::Reply([IAC, WILL, byte])),
            (Telnet::Option(DO), option) => (Telnet::Data, Step::Reply([IAC, WONT, option])),
            (Telnet::Option(WILL), option) => (Telnet::Data, Step::Reply([IAC, DONT, option])),
            // A refusal needs no answer: we are already in the state it asks for.
            (Telnet::Option(_), _) => (Telnet::Data, Step::Nothing),
            (Telnet::Sub, IAC) => (Telnet::SubCommand, Step::Nothing),
            (Telnet::Sub, _) => (Telnet::Sub, Step::Nothing),
            (Telnet::SubCommand, SE) => (Telnet::Data, Step::Nothing),
            (Telnet::SubCommand, _) => (Telnet::Sub, Step::Nothing),
        };
        *self = next;
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Vec<Step> {
        let mut telnet = Telnet::Data;
        bytes
            .iter()
            .map(|&b| telnet.step(b))
            .filter(|s| *s != Step::Nothing)
            .collect()
    }

    #[test]
    fn ctrl_c_is_a_wish_to_leave_and_its_timing_mark_is_granted() {
        // What `telnet` sends for Ctrl-C: IAC IP, IAC DO TIMING-MARK.
        assert_eq!(
            run(&[IAC, IP, IAC, DO, TIMING_MARK]),
            [Step::Leave, Step::Reply([IAC, WILL, TIMING_MARK])]
        );
    }

    #[test]
    fn every_option_is_refused() {
        assert_eq!(run(&[IAC, DO, 1]), [Step::Reply([IAC, WONT, 1])]);
        assert_eq!(run(&[IAC, WILL, 34]), [Step::Reply([IAC, DONT, 34])]);
        assert_eq!(run(&[IAC, WONT, 1, IAC, DONT, 3]), []);
    }

    #[test]
    fn subnegotiation_is_skipped_whole() {
        assert_eq!(run(&[IAC, SB, 24, 0, IAC, IAC, b'x', IAC, SE]), []);
    }

    #[test]
    fn an_escaped_iac_is_the_byte_ff() {
        assert_eq!(run(&[IAC, IAC]), [Step::Data(0xff)]);
    }

    #[test]
    fn brk_and_eof_also_leave_and_other_commands_do_nothing() {
        assert_eq!(run(&[IAC, BRK]), [Step::Leave]);
        assert_eq!(run(&[IAC, EOF]), [Step::Leave]);
        assert_eq!(run(&[IAC, 241, IAC, 246]), []);
    }
}
