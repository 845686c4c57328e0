/// Every key of the dashboard, in the order the help overlay and docs/keys.md list them.
public enum HelpContent {
    public struct Entry: Sendable {
        public var keys: String
        public var what: String
    }

    public static let sections: [(String, [Entry])] = [
        ("Move", [
            Entry(keys: "↑ ↓  j k", what: "select the previous / next mirror"),
            Entry(keys: "PgUp PgDn  Ctrl-B Ctrl-F", what: "a page up / down"),
            Entry(keys: "Home End  g G", what: "first / last mirror"),
            Entry(keys: "Enter", what: "open the detail view of the selected mirror"),
            Entry(keys: "Esc", what: "back; in the table: clear the filter, then the marks"),
        ]),
        ("Act (each is recorded with your name)", [
            Entry(keys: "s", what: "sync the selected (or marked) mirrors now"),
            Entry(keys: "S", what: "sync every stale or failed mirror (asks first)"),
            Entry(keys: "v", what: "verify (checksum audit) the selected or marked mirrors"),
            Entry(keys: "m", what: "maintain: repack the selected or marked mirrors into one pack with a bitmap"),
            Entry(keys: "V", what: "verify every mirror (asks first)"),
            Entry(keys: "p", what: "pause, or resume when paused, the selected or marked mirrors"),
            Entry(keys: "c", what: "cancel the queued or running job of the selected or marked mirrors"),
            Entry(keys: "a", what: "add a mirror (a form: name, URL, interval, LFS)"),
            Entry(keys: "e", what: "edit the selected mirror's URL, interval and LFS mode"),
            Entry(keys: "d  Del", what: "delete the selected mirror (type its name; data kept unless ticked)"),
            Entry(keys: "Space", what: "mark / unmark the selected mirror for bulk actions"),
        ]),
        ("View", [
            Entry(keys: "/", what: "filter: words match names and tags (failed, stale, paused, syncing, lfs, marked); !word inverts"),
            Entry(keys: "< >", what: "sort by the previous / next column"),
            Entry(keys: "r", what: "reverse the sort order"),
            Entry(keys: "Ctrl-L", what: "redraw the whole screen"),
            Entry(keys: "?  F1", what: "this help (any key closes it)"),
            Entry(keys: "q  Ctrl-C", what: "quit (jobs the dashboard's engine was running resume on the next start)"),
        ]),
        ("Command mode (:, ↑ ↓ for history, Esc to leave)", [
            Entry(keys: ":sync [NAME…]", what: "sync mirrors by name (default: selected or marked); also :verify :pause :resume :cancel"),
            Entry(keys: ":sort COLUMN [desc]", what: "sort by status name lag last next behind fails lfs size upstream"),
            Entry(keys: ":filter [TEXT]", what: "set the filter (empty clears), e.g. :filter failed, :filter !paused"),
            Entry(keys: ":mark all|none|TEXT", what: "mark every shown row, none, or those matching TEXT"),
            Entry(keys: ":theme NAME", what: "switch theme (default light high-contrast monochrome solarized-dark, or your own)"),
            Entry(keys: ":add  :edit NAME  :delete NAME", what: "open the add form / the edit form / the delete confirmation"),
            Entry(keys: ":help  :q", what: "this help / quit"),
        ]),
        ("Forms and dialogs", [
            Entry(keys: "Tab Shift-Tab ↑ ↓", what: "next / previous field"),
            Entry(keys: "Space ← →", what: "change the LFS choice; tick the delete-data box"),
            Entry(keys: "Enter", what: "submit (the form checks every field first)"),
            Entry(keys: "y / n", what: "answer a confirmation"),
            Entry(keys: "Ctrl-U Ctrl-W Ctrl-A Ctrl-E", what: "clear field, delete word, start, end"),
        ]),
    ]
}
