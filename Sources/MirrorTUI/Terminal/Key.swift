/// A key press (or terminal event) as the dashboard understands it.
public enum Key: Equatable, Sendable {
    case char(Character)
    case ctrl(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, delete, tab, backTab
    case function(Int)
    case resize
    case mouse(MouseEvent)
}

/// A mouse event (only with `--mouse`).
public struct MouseEvent: Equatable, Sendable {
    public enum Kind: Sendable { case click, doubleClick, wheelUp, wheelDown }
    public var kind: Kind
    public var row: Int
    public var col: Int

    public init(kind: Kind, row: Int, col: Int) {
        self.kind = kind
        self.row = row
        self.col = col
    }
}
