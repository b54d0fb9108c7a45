//! Every terminal prompt codedesk shows lives here, and only here: the
//! identity-check questions, the hidden code prompt of `verify`, and the
//! yes/no question of `approve` ([`approve_request`]). Each
//! prompted value also has a flag (or standard input), and nothing here is
//! called unless standard input and standard error are terminals.

use crate::exit::{Status, fail};
use crate::interrupt;
use crate::model::{IdentityMethod, parse_ticket};
use dialoguer::{
    Confirm, Input, Password, Select, theme::ColorfulTheme, theme::SimpleTheme, theme::Theme,
};
use std::io::{IsTerminal, Write};
use zeroize::Zeroizing;

/// True when standard input and standard error are terminals: an operator
/// may be there to answer prompts.
pub fn at_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Plain prompts: `NO_COLOR` set to anything but the empty string, as
/// no-color.org defines it ("when present and not an empty string").
fn theme() -> Box<dyn Theme> {
    match std::env::var_os("NO_COLOR") {
        Some(v) if !v.is_empty() => Box::new(SimpleTheme),
        empty => {
            // The console crate takes an empty NO_COLOR for a set one; at a
            // terminal that is not dumb, colour is what an empty one means.
            if empty.is_some()
                && dialoguer::console::Term::stderr().is_term()
                && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
            {
                dialoguer::console::set_colors_enabled_stderr(true);
            }
            Box::new(ColorfulTheme::default())
        }
    }
}

/// The operator's answers to the identity questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answers {
    Passed {
        method: IdentityMethod,
        ticket: String,
    },
    /// The operator said the person could not be verified or did not match.
    Refused {
        method: Option<IdentityMethod>,
        why: &'static str,
    },
    /// Escape, Ctrl-C, an empty ticket or a closed terminal.
    Aborted {
        method: Option<IdentityMethod>,
        why: &'static str,
    },
}

/// Asks how the person was verified, whether they matched, and the ticket.
/// `intro` is shown first (who, which device, what is at stake); `chosen`
/// hears the method as soon as it is picked, so that an interrupt after that
/// can still record it.
///
/// Ctrl-C at any of these prompts (read in raw mode) comes back as an error,
/// hence `Aborted`, and console also raises SIGINT. A signal from outside
/// the prompt's key handling (`kill -INT`, SIGHUP, SIGTERM, once the caller
/// has armed them) wakes the prompt's wait ([`ask`]): `Aborted` too, with
/// the signal as the reason.
pub fn identity_questions(
    intro: &str,
    chosen: &dyn Fn(IdentityMethod),
    ch: &mut dyn Challenger,
) -> Answers {
    let term = dialoguer::console::Term::stderr();
    let _ = term.write_line(intro);
    let methods = [
        (IdentityMethod::InPerson, "in person, with photo ID"),
        (
            IdentityMethod::VideoCall,
            "on a video call, with photo ID held to the camera",
        ),
        (
            IdentityMethod::Callback,
            "by calling back the number in the directory (not one the caller gave)",
        ),
        (
            IdentityMethod::Challenge,
            "by a one-time challenge codedesk sends to a contact on file (the caller reads it back)",
        ),
    ];
    let mut items: Vec<&str> = methods.iter().map(|m| m.1).collect();
    items.push("I could not verify this person");
    let Some(choice) = ask(move || {
        Select::with_theme(&*theme())
            .with_prompt("How did you verify this person's identity?")
            .items(&items)
            .default(0)
            .interact_opt()
    }) else {
        return signalled(&term, None);
    };
    let method = match choice {
        Ok(Some(i)) if i < methods.len() => {
            chosen(methods[i].0);
            methods[i].0
        }
        Ok(Some(_)) => {
            return Answers::Refused {
                method: None,
                why: "the operator could not verify the person",
            };
        }
        _ => {
            let _ = term.show_cursor();
            return Answers::Aborted {
                method: None,
                why: "the identity check was cancelled",
            };
        }
    };
    match method {
        IdentityMethod::Callback => {
            let numbers = ch.callback_numbers();
            if numbers.is_empty() {
                let _ = term.write_line("No number on file to call back.");
                return Answers::Refused {
                    method: Some(method),
                    why: "no number on file to call back",
                };
            }
            let _ = term.write_line(
                "Call back the number on file (hang up first; never a number the caller gives):",
            );
            for n in &numbers {
                let _ = term.write_line(&format!("  {n}"));
            }
        }
        IdentityMethod::Challenge => {
            if let Err(a) = challenge_steps(&term, ch) {
                return a;
            }
            return ticket_step(&term, method);
        }
        _ => {}
    }
    let Some(matched) = ask(|| {
        Confirm::with_theme(&*theme())
            .with_prompt("Did the person match their photo ID or directory record?")
            .default(false)
            // An operator's habitual Enter after "y" must not submit an
            // empty ticket at the next prompt.
            .wait_for_newline(true)
            .interact_opt()
    }) else {
        return signalled(&term, Some(method));
    };
    match matched {
        Ok(Some(true)) => {}
        Ok(Some(false)) => {
            return Answers::Refused {
                method: Some(method),
                why: "the person did not match",
            };
        }
        _ => {
            let _ = term.show_cursor();
            return Answers::Aborted {
                method: Some(method),
                why: "the identity check was cancelled",
            };
        }
    }
    ticket_step(&term, method)
}

/// The ticket reference, last of every passed check.
fn ticket_step(term: &dialoguer::console::Term, method: IdentityMethod) -> Answers {
    let Some(ticket) = ask(|| {
        Input::<String>::with_theme(&*theme())
            .with_prompt("Ticket reference")
            .allow_empty(true)
            .interact_text()
    }) else {
        return signalled(term, Some(method));
    };
    match ticket.map(|t| parse_ticket(&t)) {
        Ok(Ok(ticket)) => Answers::Passed { method, ticket },
        Ok(Err(_)) => Answers::Aborted {
            method: Some(method),
            why: "no ticket reference was given",
        },
        // Ctrl-C: end the half-typed line before the error message.
        Err(_) => {
            let _ = term.write_line("");
            Answers::Aborted {
                method: Some(method),
                why: "the identity check was cancelled",
            }
        }
    }
}

/// The prompt's side of the challenge and callback steps (the identity
/// gate sends and checks; the prompt only asks).
pub trait Challenger {
    /// The contacts on file a challenge can go to, masked.
    fn contacts(&self) -> Vec<String>;
    /// Sends a challenge to contact `i`; `Err` says why it was not sent.
    fn send(&mut self, i: usize) -> Result<(), String>;
    /// Checks one read-back.
    fn check(&mut self, answer: &str) -> ChallengeStep;
    /// The numbers on file to call back, in full (shown here only).
    fn callback_numbers(&mut self) -> Vec<String>;
}

/// The outcome of one read-back.
pub enum ChallengeStep {
    Passed,
    Retry(String),
    Failed(String),
}

/// Picks a contact (never one the caller says is lost), sends the
/// challenge, and takes read-backs until one passes or the tries run out.
fn challenge_steps(
    term: &dialoguer::console::Term,
    ch: &mut dyn Challenger,
) -> Result<(), Answers> {
    let method = Some(IdentityMethod::Challenge);
    let aborted = || {
        let _ = term.show_cursor();
        Answers::Aborted {
            method,
            why: "the identity check was cancelled",
        }
    };
    let contacts = ch.contacts();
    if contacts.is_empty() {
        let _ = term.write_line("No contact on file can receive a challenge.");
        return Err(Answers::Refused {
            method,
            why: "no contact on file can receive a challenge",
        });
    }
    let items = contacts.clone();
    let Some(picked) = ask(move || {
        Select::with_theme(&*theme())
            .with_prompt("Send the challenge to")
            .items(&items)
            .default(0)
            .interact_opt()
    }) else {
        return Err(signalled(term, method));
    };
    let i = match picked {
        Ok(Some(i)) => i,
        _ => return Err(aborted()),
    };
    let Some(kept) = ask(|| {
        Confirm::with_theme(&*theme())
            .with_prompt("Does the caller still have it (not lost or stolen)?")
            .default(false)
            .wait_for_newline(true)
            .interact_opt()
    }) else {
        return Err(signalled(term, method));
    };
    match kept {
        Ok(Some(true)) => {}
        Ok(Some(false)) => {
            return Err(Answers::Refused {
                method,
                why: "the caller says that contact is lost; a challenge never goes there",
            });
        }
        _ => return Err(aborted()),
    }
    if let Err(why) = ch.send(i) {
        let _ = term.write_line(&why);
        return Err(Answers::Aborted {
            method,
            why: "the challenge could not be sent",
        });
    }
    let _ = term.write_line(&format!(
        "Challenge sent to {}. Ask the caller to read it back (it expires in 10 minutes).",
        contacts[i]
    ));
    loop {
        let Some(answer) = ask(|| {
            Password::with_theme(&*theme())
                .with_prompt("Challenge read back by the caller")
                .interact()
                .map(Zeroizing::new)
        }) else {
            return Err(signalled(term, method));
        };
        let Ok(answer) = answer else {
            let _ = term.write_line("");
            return Err(aborted());
        };
        match ch.check(&answer) {
            ChallengeStep::Passed => {
                let _ = term.write_line("Challenge passed.");
                return Ok(());
            }
            ChallengeStep::Retry(m) => {
                let _ = term.write_line(&m);
            }
            ChallengeStep::Failed(m) => {
                let _ = term.write_line(&m);
                return Err(Answers::Refused {
                    method,
                    why: "the challenge was not read back correctly",
                });
            }
        }
    }
}

thread_local! {
    /// A read-back handed in by `demo` (as `verify`'s code is), instead of
    /// standard input.
    static GIVEN_ANSWER: std::cell::RefCell<Option<Zeroizing<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Hands the next [`challenge_answer`] its read-back (`demo`).
pub fn give_challenge_answer(answer: Zeroizing<String>) {
    GIVEN_ANSWER.with_borrow_mut(|g| *g = Some(answer));
}

/// The read-back for `--challenge ID`: a hidden prompt at a terminal,
/// else one line of standard input. `None` when there is none.
pub fn challenge_answer() -> Option<Zeroizing<String>> {
    use std::io::{BufRead, Read};
    if let Some(given) = GIVEN_ANSWER.with_borrow_mut(Option::take) {
        return Some(given);
    }
    if at_terminal() {
        return Password::with_theme(&*theme())
            .with_prompt("Challenge read back by the caller")
            .interact()
            .ok()
            .map(Zeroizing::new);
    }
    let mut line = Zeroizing::new(String::new());
    let stdin = std::io::stdin();
    let mut r = stdin.lock().take(256);
    r.read_line(&mut line).ok()?;
    let t = Zeroizing::new(line.trim().to_string());
    (!t.is_empty()).then_some(t)
}

/// Reads a code without echoing it.
///
/// The prompt turns echo off and reads in line mode, where Ctrl-C is SIGINT:
/// left to the default action it would kill codedesk with echo still off,
/// and the operator would type blind afterwards. So an interrupt here puts
/// the terminal's settings back as they were ([`ask`]) and comes back as an
/// error, exit 2 (no code was entered): nothing was checked or spent.
pub fn hidden_code(user: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    let prompt = format!("Backup code for {user}");
    match ask(move || {
        Password::with_theme(&*theme())
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()
            .ok()
            .map(Zeroizing::new)
    }) {
        Some(code) => Ok(code),
        None => {
            end_line();
            Err(fail(
                Status::Usage,
                "no code was entered (Ctrl-C); nothing was checked",
            ))
        }
    }
}

/// What a prompt's wait hears: the prompt's answer, or a signal.
enum Heard<T> {
    Answer(std::thread::Result<T>),
    Signal,
}

/// `approve REQUEST` at a terminal: shows the request (`shown`: who asked,
/// why, the check) on the terminal and asks whether to approve it, no by
/// default. `Some(true)` only for a yes; `Some(false)` for a no, Escape,
/// Ctrl-C or a closed terminal; `None` when a signal (SIGHUP, SIGTERM, an
/// outside SIGINT) ended the wait.
pub fn approve_request(shown: &str, id: i64) -> Option<bool> {
    let term = dialoguer::console::Term::stderr();
    for line in shown.lines() {
        let _ = term.write_line(line);
    }
    let prompt = format!("Approve request {id}?");
    let Some(answer) = ask(move || {
        Confirm::with_theme(&*theme())
            .with_prompt(prompt)
            .default(false)
            .wait_for_newline(true)
            .interact_opt()
    }) else {
        let _ = term.show_cursor();
        end_line();
        return None;
    };
    if !matches!(answer, Ok(Some(_))) {
        let _ = term.show_cursor();
    }
    Some(matches!(answer, Ok(Some(true))))
}

/// Runs one prompt on a thread of its own and waits for its answer or for
/// a signal ([`interrupt::pending`]), whichever comes first. A prompt reads
/// the terminal in a call that a signal does not end (a line read is
/// restarted, a raw one may be waiting when the signal lands elsewhere),
/// so the main flow waits here instead, where the signal's action wakes
/// it. On a signal (`None`) the terminal's settings are put back as they
/// were before the prompt (raw mode, or echo off), and the prompt's thread
/// is left waiting: the run is about to end with an error.
fn ask<T: Send + 'static>(prompt: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let saved = terminal_settings(libc::STDIN_FILENO);
    let (tx, rx) = std::sync::mpsc::channel::<Heard<T>>();
    let wake = tx.clone();
    let heard = interrupt::during(
        move || {
            let _ = wake.send(Heard::Signal);
        },
        || {
            // Noted before the wake above was in place.
            if interrupt::pending().is_some() {
                return Heard::Signal;
            }
            std::thread::spawn(move || {
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(prompt));
                let _ = tx.send(Heard::Answer(answer));
            });
            rx.recv().unwrap_or(Heard::Signal)
        },
    );
    match heard {
        Heard::Answer(Ok(answer)) => Some(answer),
        Heard::Answer(Err(panic)) => std::panic::resume_unwind(panic),
        Heard::Signal => {
            if let Some(saved) = saved {
                // SAFETY: tcsetattr on standard input with settings read
                // from it.
                unsafe {
                    libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
                }
            }
            None
        }
    }
}

/// Ends the line a signal interrupted (the terminal may have echoed ^C);
/// the terminal may be gone, so a failed write is ignored.
fn end_line() {
    let _ = writeln!(std::io::stderr());
}

/// An identity prompt a signal interrupted: the cursor shown again, the
/// line ended, and the check aborted with the signal as the reason.
fn signalled(term: &dialoguer::console::Term, method: Option<IdentityMethod>) -> Answers {
    let _ = term.show_cursor();
    end_line();
    Answers::Aborted {
        method,
        why: interrupt::pending().map_or("Ctrl-C", interrupt::cause),
    }
}

/// The terminal settings of `fd`, if it is a terminal.
fn terminal_settings(fd: libc::c_int) -> Option<libc::termios> {
    let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the termios it is given, or fails and we
    // never read it.
    unsafe { (libc::tcgetattr(fd, t.as_mut_ptr()) == 0).then(|| t.assume_init()) }
}

/// Shows the cursor again, after a signal that stopped the run near a
/// prompt.
pub fn restore_terminal() {
    let _ = dialoguer::console::Term::stderr().show_cursor();
}
