//! Printing how a run ended (`onboard`, `resume`, `activate`, the demo): the table, the server checks that did
//! not pass, where the reports are, and how to continue an interrupted run.

use crate::fleet::progress::Mode;
use crate::onboard::Ended;
use crate::report;

/// How events and the end are printed: JSON lines, a live terminal display, or plain lines in a pipe.
pub fn mode(json: bool) -> Mode {
    if json {
        Mode::Json
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        Mode::Terminal
    } else {
        Mode::Plain
    }
}

/// Print a repair the journal needed (a torn last line cut off) where a person sees it.
pub fn repaired(said: Option<String>) {
    if let Some(cut) = said {
        eprintln!("polyprov: {cut}");
    }
}

/// Print the end of a run; returns its exit code.
pub fn print(ended: &Ended, mode: Mode) -> u8 {
    let dir = ended.dir.display();
    let resume = ended
        .incomplete
        .then(|| format!("polyprov resume --run {dir}"));
    if mode == Mode::Json {
        crate::output::emit_run(crate::output::Run::Ended {
            run: Box::new(ended.run.clone()),
            summary: report::summary(&ended.rows),
            dir: ended.dir.clone(),
            files: ended.files.clone(),
            resume,
        });
        return ended.code;
    } else {
        println!("\n{}", report::table(&ended.rows));
        for c in ended
            .checks
            .iter()
            .filter(|c| !matches!(c, crate::server_check::Checked::Ok { .. }))
        {
            println!("{}", c.line());
        }
        println!(
            "Reports: {}",
            ended
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(resume) = resume {
        println!("The run was interrupted. Resume with: {resume}");
    }
    ended.code
}
