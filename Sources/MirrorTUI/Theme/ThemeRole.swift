/// Every part of the screen a theme styles; the raw value is its key under `[styles]` in a theme file.
public enum ThemeRole: String, CaseIterable, Sendable {
    case base, muted
    case title, titleAccent = "title_accent"
    case tableHeader = "table_header", sortIndicator = "sort_indicator"
    case selection, marked
    case ok, failed, stale, paused, active, queued, idle
    case barDone = "bar_done", barTodo = "bar_todo"
    case panelTitle = "panel_title"
    case eventTime = "event_time", eventError = "event_error"
    case footer, footerKey = "footer_key", footerDisabled = "footer_disabled"
    case message, messageError = "message_error"
    case dialog, dialogTitle = "dialog_title"
    case input, inputError = "input_error"
    case helpKey = "help_key"

    /// What the role styles, for docs/themes.md and error messages.
    public var summary: String {
        switch self {
        case .base: return "ordinary text and the background of every panel"
        case .muted: return "secondary text: units, placeholders, 'never', dashes"
        case .title: return "the header bar at the top"
        case .titleAccent: return "highlights inside the header bar (engine state, failed count)"
        case .tableHeader: return "column titles of the mirror table"
        case .sortIndicator: return "the arrow on the sorted column"
        case .selection: return "the selected row (its background is laid under the row's own colors)"
        case .marked: return "rows marked with space for bulk actions"
        case .ok: return "healthy mirrors' status glyph and success words"
        case .failed: return "failed mirrors (the whole row) and failure words"
        case .stale: return "stale mirrors (lag above 1.5 × interval): the whole row"
        case .paused: return "paused mirrors"
        case .active: return "mirrors syncing, fetching LFS or verifying; running jobs"
        case .queued: return "mirrors and jobs waiting in the queue"
        case .idle: return "mirrors never synced yet"
        case .barDone: return "the filled part of progress and LFS bars"
        case .barTodo: return "the empty part of progress and LFS bars"
        case .panelTitle: return "titles of the jobs and events panels, and of the detail view's sections"
        case .eventTime: return "times in the events strip"
        case .eventError: return "events that report a failure"
        case .footer: return "the key-hint footer"
        case .footerKey: return "key names in the footer"
        case .footerDisabled: return "keys disabled by --read-only"
        case .message: return "the message line (results of actions)"
        case .messageError: return "error messages on the message line"
        case .dialog: return "dialogs, forms, the help overlay and the command line"
        case .dialogTitle: return "dialog titles"
        case .input: return "text fields in forms and the command line"
        case .inputError: return "inline validation errors in forms"
        case .helpKey: return "key names in the help overlay"
        }
    }

    /// The attributes a role gets on a terminal without colors, so it still stands out.
    var monochrome: TextStyle {
        switch self {
        case .title, .selection, .dialogTitle: return TextStyle(reverse: true)
        case .titleAccent: return TextStyle(bold: true, reverse: true)
        case .tableHeader, .panelTitle, .footerKey, .helpKey, .failed, .eventError, .messageError, .inputError: return TextStyle(bold: true)
        case .stale, .input, .sortIndicator: return TextStyle(underline: true)
        case .muted, .footerDisabled, .barTodo, .paused: return TextStyle(dim: true)
        case .marked, .barDone: return TextStyle(bold: true)
        default: return TextStyle()
        }
    }
}
