/// Where each part of the main view goes for a terminal size (pure).
///
/// Rows, top to bottom: header, table header, table rows, jobs panel (title + rows), events strip
/// (title + rows), status/message line, footer. Panels shrink or disappear on short terminals.
public struct ScreenLayout: Equatable, Sendable {
    public static let minWidth = 40
    public static let minHeight = 10

    public var width: Int
    public var height: Int
    public var tooSmall: Bool
    public var tableHeaderRow = 1
    public var tableTop = 2
    public var tableRows = 0
    public var jobsTitleRow: Int?
    public var jobsTop = 0
    public var jobsRows = 0
    public var eventsTitleRow: Int?
    public var eventsTop = 0
    public var eventsRows = 0
    public var messageRow = 0
    public var footerRow = 0

    public init(width: Int, height: Int, jobCount: Int) {
        self.width = width
        self.height = height
        tooSmall = width < Self.minWidth || height < Self.minHeight
        guard !tooSmall else { return }
        footerRow = height - 1
        messageRow = height - 2
        let available = height - 3  // rows 1 ... height-3
        let jobsWanted = max(1, jobCount)
        let jobsCap = available >= 30 ? 8 : available >= 18 ? 4 : available >= 10 ? 2 : 1
        jobsRows = min(jobsWanted, jobsCap)
        eventsRows = available >= 30 ? 5 : available >= 20 ? 3 : available >= 16 ? 2 : 0
        var tableSpace = available - (jobsRows + 1) - (eventsRows > 0 ? eventsRows + 1 : 0)
        if tableSpace < 4 {
            eventsRows = 0
            tableSpace = available - (jobsRows + 1)
        }
        tableRows = max(1, tableSpace - 1)
        jobsTitleRow = tableTop + tableRows
        jobsTop = jobsTitleRow! + 1
        if eventsRows > 0 {
            eventsTitleRow = jobsTop + jobsRows
            eventsTop = eventsTitleRow! + 1
        }
    }

    /// Rows the detail view and overlays may use (between header and message line).
    public var bodyTop: Int { 1 }
    public var bodyRows: Int { max(0, messageRow - 1) }
}
