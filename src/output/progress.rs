//! The live view on a terminal: below the output, one line per host that has been on
//! its task for more than a second (`⠙ [web3] Install packages · 12s`), gone when the
//! host finishes. It is drawn on stderr by a ticker thread; every line of the run's
//! own output is written through [`AroundView`], which takes the view off the screen
//! while the line is written and draws it again below, so the two never garble.
//!
//! [`Board`] is what the view shows, kept apart from drawing so it can be tested
//! without a terminal.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Output};

/// A host appears in the view once it has been on one task this long.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// At most this many host lines; the rest are counted on one more line.
const MAX_LINES: usize = 10;
/// How often the view is redrawn (elapsed times, spinners).
const TICK: Duration = Duration::from_millis(200);

/// Whether to show the view: stderr is a terminal that can redraw lines, and the
/// person has not asked for plain output (`NO_COLOR`, `TERM=dumb`).
pub fn wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    std::io::stderr().is_terminal() && !no_color && !dumb
}

/// Which host runs which task, since when.
#[derive(Debug, Default)]
pub struct Board {
    running: IndexMap<String, Running>,
    /// A `pause` task may ask the person a question on the terminal: no view over it.
    paused: bool,
}

#[derive(Debug)]
struct Running {
    task: String,
    since: Instant,
}

impl Board {
    pub fn start(&mut self, host: &str, task: &str, at: Instant) {
        self.running.insert(
            host.to_string(),
            Running {
                task: task.to_string(),
                since: at,
            },
        );
    }

    pub fn done(&mut self, host: &str) {
        self.running.shift_remove(host);
    }

    /// A new task begins; hosts still listed never said they finished (an interrupted
    /// task) and are dropped.
    pub fn task(&mut self, action: &str) {
        self.running.clear();
        self.paused = action == "pause";
    }

    /// The lines to show at `now`: hosts on their task for over [`SHOW_AFTER`], the
    /// longest first.
    pub fn lines(&self, now: Instant) -> Vec<String> {
        if self.paused {
            return Vec::new();
        }
        let mut long: Vec<(&String, &Running)> = self
            .running
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.since) >= SHOW_AFTER)
            .collect();
        long.sort_by_key(|(_, r)| r.since);
        let mut lines: Vec<String> = long
            .iter()
            .take(MAX_LINES)
            .map(|(host, r)| {
                let elapsed = now.saturating_duration_since(r.since);
                format!("[{host}] {} · {}", r.task, short_duration(elapsed))
            })
            .collect();
        if long.len() > MAX_LINES {
            lines.push(format!("… and {} more hosts", long.len() - MAX_LINES));
        }
        lines
    }
}

/// `12s`, `3m05s`, `1h02m`.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The sink that keeps the board, and the thread that redraws it every tick.
pub struct Progress {
    board: Arc<Mutex<Board>>,
    drawn: Arc<Mutex<Drawn>>,
    ticker: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    /// Start drawing on `view` (see [`view`]).
    pub fn start(view: MultiProgress) -> Progress {
        let board = Arc::new(Mutex::new(Board::default()));
        let drawn = Arc::new(Mutex::new(Drawn::new(view)));
        let (stop, stopped) = mpsc::channel::<()>();
        let (tick_board, tick_drawn) = (board.clone(), drawn.clone());
        let thread = std::thread::Builder::new()
            .name("srplay-progress".into())
            .spawn(move || {
                // Redraw every tick until told to stop (or the sink is gone).
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    redraw(&tick_board, &tick_drawn);
                }
                lock(&tick_drawn).show(&[]);
            });
        Progress {
            board,
            drawn,
            // Without a thread there is no view, and the run goes on without it.
            ticker: thread.ok().map(|t| (stop, t)),
        }
    }

    fn stop(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn redraw(board: &Mutex<Board>, drawn: &Mutex<Drawn>) {
    let lines = lock(board).lines(Instant::now());
    lock(drawn).show(&lines);
}

impl Output for Progress {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::TaskStart(task) => lock(&self.board).task(task.action),
            Event::HostStart { host, task, .. } => {
                lock(&self.board).start(host, task, Instant::now())
            }
            Event::HostDone { host, .. } => {
                lock(&self.board).done(host);
                // Off the screen now, not at the next tick: the task's results are
                // printed next and must not have the finished host drawn below them.
                redraw(&self.board, &self.drawn);
            }
            // The view is gone before the error or the last line is printed.
            Event::RunEnd { .. } => self.stop(),
            _ => {}
        }
    }

    fn reads_quiet_results(&self) -> bool {
        false
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The view's bars on the screen: one per line shown.
struct Drawn {
    view: MultiProgress,
    bars: Vec<ProgressBar>,
    style: ProgressStyle,
}

impl Drawn {
    fn new(view: MultiProgress) -> Drawn {
        // `wide_msg` cuts a long task name at the terminal's width: a wrapped line
        // would not be cleared on the next redraw.
        let style = ProgressStyle::with_template("{spinner:.cyan} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Drawn {
            view,
            bars: Vec::new(),
            style,
        }
    }

    fn show(&mut self, lines: &[String]) {
        while self.bars.len() > lines.len() {
            if let Some(bar) = self.bars.pop() {
                bar.finish_and_clear();
                self.view.remove(&bar);
            }
        }
        while self.bars.len() < lines.len() {
            let bar = ProgressBar::new_spinner().with_style(self.style.clone());
            self.bars.push(self.view.add(bar));
        }
        for (bar, line) in self.bars.iter().zip(lines) {
            bar.set_message(line.clone());
            bar.tick();
        }
    }
}

/// The terminal region the view is drawn in (stderr).
pub fn view() -> MultiProgress {
    MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
}

/// A stream the run writes while the view may be on the screen: what is written is
/// held until the writer is flushed (the human output flushes after each event), then
/// written with the view taken off the screen, and the view is drawn again below it.
pub struct AroundView<W: Write> {
    view: MultiProgress,
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> AroundView<W> {
    pub fn new(view: MultiProgress, inner: W) -> AroundView<W> {
        AroundView {
            view,
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for AroundView<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return self.inner.flush();
        }
        let pending = std::mem::take(&mut self.pending);
        let inner = &mut self.inner;
        self.view.suspend(|| {
            inner.write_all(&pending)?;
            inner.flush()
        })
    }
}

impl<W: Write> Drop for AroundView<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_show_after_a_second_on_their_task_longest_first() {
        let t0 = Instant::now();
        let mut board = Board::default();
        board.task("command");
        board.start("h1", "Install", t0 + Duration::from_millis(500));
        board.start("h2", "Install", t0);
        board.start("h3", "Install", t0);
        assert!(board.lines(t0 + Duration::from_millis(900)).is_empty());
        board.done("h3");
        assert_eq!(
            board.lines(t0 + Duration::from_millis(1200)),
            vec!["[h2] Install · 1s"]
        );
        assert_eq!(
            board.lines(t0 + Duration::from_secs(75)),
            vec!["[h2] Install · 1m15s", "[h1] Install · 1m14s"]
        );
        board.done("h1");
        board.done("h2");
        assert!(board.lines(t0 + Duration::from_secs(80)).is_empty());
    }

    #[test]
    fn a_new_task_forgets_hosts_that_never_finished() {
        let t0 = Instant::now();
        let mut board = Board::default();
        board.start("h1", "Slow", t0);
        board.task("command");
        assert!(board.lines(t0 + Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn nothing_is_drawn_over_a_pause_prompt() {
        let t0 = Instant::now();
        let mut board = Board::default();
        board.task("pause");
        board.start("h1", "Confirm", t0);
        assert!(board.lines(t0 + Duration::from_secs(5)).is_empty());
        board.task("command");
        board.start("h1", "Next", t0);
        assert_eq!(board.lines(t0 + Duration::from_secs(5)).len(), 1);
    }

    #[test]
    fn many_hosts_are_counted_past_ten_lines() {
        let t0 = Instant::now();
        let mut board = Board::default();
        for i in 0..13 {
            board.start(&format!("h{i:02}"), "Long", t0 + Duration::from_millis(i));
        }
        let lines = board.lines(t0 + Duration::from_secs(3));
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines[0], "[h00] Long · 3s");
        assert_eq!(lines[MAX_LINES], "… and 3 more hosts");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short_duration(Duration::from_secs(9)), "9s");
        assert_eq!(short_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(short_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn lines_around_a_hidden_view_are_written_on_flush() {
        let view = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let mut out = AroundView::new(view, Vec::new());
        writeln!(out, "ok: [h1]").unwrap();
        assert!(out.inner.is_empty());
        out.flush().unwrap();
        assert_eq!(out.inner, b"ok: [h1]\n");
    }
}
