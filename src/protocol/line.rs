//! Splitting a client's byte stream into lines, with a hard bound on line length.
//!
//! Bytes arrive in arbitrary pieces: a line split across reads, several lines in one read, a
//! UTF-8 character cut in two. The decoder hands out complete lines (the LF removed, and a CR
//! right before it) and keeps only the unfinished tail of the last one. A line longer than
//! the bound is reported once and its remaining bytes are skipped as they arrive, never
//! stored: a 40 MB line costs the server nothing but the time to scan it.
//!
//! On the plain listener the decoder also speaks the minimum of Telnet (see
//! [`super::telnet`]): it looks for `IAC` in the same scan that looks for LF, so a client
//! that never sends an `IAC` costs nothing more.

use memchr::{memchr, memchr2};

use super::telnet::{Step, Telnet, IAC};

/// What `telnet` sends, as a line of its own, when its user presses Ctrl-D.
const CTRL_D: u8 = 0x04;

/// One result of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line without its line ending. The bytes may be any bytes at all.
    Line(&'a [u8]),
    /// The current line is longer than the bound; the decoder discards it up to its LF.
    TooLong,
    /// The client asked to leave: Telnet's interrupt, break or end of file, or a Telnet line
    /// that is only Ctrl-D.
    Leave,
    /// Bytes to send back to the client (a Telnet answer).
    Reply([u8; 3]),
}

/// What the decoder is doing with the line in progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting bytes of the next line (possibly none yet).
    #[default]
    Collecting,
    /// `partial` holds a line that was handed out; clear it before going on.
    Delivered,
    /// Skipping the rest of an over-long line, up to and including its LF.
    Discarding,
}

/// Per-connection line splitter. Holds no allocation unless a line is split across reads.
#[derive(Debug, Default)]
pub struct LineDecoder {
    /// The unfinished line carried over from earlier input; never longer than the bound + 1
    /// (room for a CR that may turn out to precede the LF).
    partial: Vec<u8>,
    state: State,
    /// Where a Telnet client is inside a command sequence; `None` where Telnet is not spoken.
    telnet: Option<Telnet>,
}

impl LineDecoder {
    /// A decoder for a client that may be `telnet`, which sends commands in band.
    pub fn new(telnet: bool) -> Self {
        LineDecoder {
            telnet: telnet.then_some(Telnet::Data),
            ..LineDecoder::default()
        }
    }

    /// Takes the next piece out of `input`, advancing it past what was consumed. Returns
    /// `None` once `input` is used up; an unfinished line is kept for the next call.
    /// `max_line` is the longest line accepted, not counting the line ending.
    pub fn next_piece<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
        max_line: usize,
    ) -> Option<Piece<'r>> {
        if self.state == State::Delivered {
            // Drop the allocation as well: split lines are rare, idle clients should hold nothing.
            self.partial = Vec::new();
            self.state = State::Collecting;
        }
        loop {
            if let Some(piece) = self.telnet_sequence(input, max_line) {
                return Some(piece);
            }
            if input.is_empty() {
                return None;
            }
            let special = match self.telnet {
                Some(_) => memchr2(b'\n', IAC, input),
                None => memchr(b'\n', input),
            };
            match special {
                None => return self.keep_unfinished(input, max_line),
                Some(at) if input[at] == IAC => {
                    let head = &input[..at];
                    *input = &input[at..];
                    if let Some(piece) = self.append(head, max_line) {
                        return Some(piece);
                    }
                }
                Some(newline) => {
                    let (head, rest) = (&input[..newline], &input[newline + 1..]);
                    *input = rest;
                    if self.state == State::Discarding {
                        self.state = State::Collecting;
                        continue;
                    }
                    let telnet = self.telnet.is_some();
                    return Some(match self.complete(head, max_line) {
                        Piece::Line([CTRL_D]) if telnet => Piece::Leave,
                        piece => piece,
                    });
                }
            }
        }
    }

    /// At end of input: the last line if the client sent one without a line ending, or
    /// [`Piece::TooLong`] if that line was over the bound.
    pub fn finish(&mut self, max_line: usize) -> Option<Piece<'_>> {
        match self.state {
            State::Discarding => {
                self.state = State::Delivered;
                Some(Piece::TooLong)
            }
            State::Collecting if !self.partial.is_empty() => {
                self.state = State::Delivered;
                let line = strip_cr(&self.partial);
                Some(if line.len() > max_line {
                    Piece::TooLong
                } else {
                    Piece::Line(line)
                })
            }
            State::Collecting | State::Delivered => None,
        }
    }

    /// Runs `input` through the Telnet state machine while a sequence is in progress (and
    /// at an `IAC`, which starts one). Returns a piece if the sequence produced one.
    fn telnet_sequence(&mut self, input: &mut &[u8], max_line: usize) -> Option<Piece<'static>> {
        let telnet = self.telnet.as_mut()?;
        while let Some((&byte, rest)) = input.split_first() {
            if !telnet.in_sequence() && byte != IAC {
                return None;
            }
            *input = rest;
            match telnet.step(byte) {
                Step::Nothing => {}
                Step::Data(byte) => {
                    if let Some(piece) = self.append(&[byte], max_line) {
                        return Some(piece);
                    }
                    return self.telnet_sequence(input, max_line);
                }
                Step::Reply(bytes) => return Some(Piece::Reply(bytes)),
                Step::Leave => {
                    // Like an interrupted line in a terminal: what was typed of it is gone.
                    self.partial = Vec::new();
                    self.state = State::Collecting;
                    return Some(Piece::Leave);
                }
            }
        }
        None
    }

    /// Appends bytes that belong to the current line without ending it.
    fn append(&mut self, bytes: &[u8], max_line: usize) -> Option<Piece<'static>> {
        if self.state == State::Discarding {
            return None;
        }
        if self.partial.len() + bytes.len() > max_line + 1 {
            self.partial = Vec::new();
            self.state = State::Discarding;
            return Some(Piece::TooLong);
        }
        self.partial.extend_from_slice(bytes);
        None
    }

    /// The line that `head` (the bytes before its LF) completes.
    fn complete<'r>(&'r mut self, head: &'r [u8], max_line: usize) -> Piece<'r> {
        if self.partial.is_empty() {
            let line = strip_cr(head);
            return if line.len() > max_line {
                Piece::TooLong
            } else {
                Piece::Line(line)
            };
        }
        if self.partial.len() + head.len() > max_line + 1 {
            self.partial = Vec::new();
            return Piece::TooLong;
        }
        self.partial.extend_from_slice(head);
        self.state = State::Delivered;
        let line = strip_cr(&self.partial);
        if line.len() > max_line {
            Piece::TooLong
        } else {
            Piece::Line(line)
        }
    }

    /// Stores an unfinished line, or reports it as too long if it already is.
    fn keep_unfinished(&mut self, input: &mut &[u8], max_line: usize) -> Option<Piece<'static>> {
        let unfinished = std::mem::take(input);
        self.append(unfinished, max_line)
    }
}

/// The line without the CR the contract says to drop before the LF.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests;
