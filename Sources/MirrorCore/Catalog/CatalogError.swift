/// Catalog problems, phrased for the operator.
public enum CatalogError: Error, CustomStringConvertible, Equatable, Sendable {
    case duplicateName(String)
    case unknownMirror(String)
    case database(path: String, message: String)

    public var description: String {
        switch self {
        case let .duplicateName(name):
            return "a mirror named \(Redactor.quote(name)) already exists: choose another name or remove it first"
        case let .unknownMirror(name):
            return "no mirror named \(Redactor.quote(name)): run 'mirrordeck list' to see the names"
        case let .database(path, message):
            return "catalog \(path): \(message)"
        }
    }
}
