import Foundation
import GRDB

/// Shared column naming for every catalog record: Swift camelCase, SQL snake_case.
public protocol CatalogRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension CatalogRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
    /// Dates as the catalog stores them ("YYYY-MM-DD HH:MM:SS.SSS", UTC), parsed directly. GRDB's own
    /// decoding goes through Foundation's Calendar, which loads ICU's calendar and locale data: several
    /// megabytes of a dashboard's memory, for a fixed format.
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .custom { Catalog.date($0) }
    }
}

extension CatalogRecord {
    /// Inserts a copy of the record when the caller has no use for its new row id.
    func append(to db: Database) throws {
        var copy = self
        try copy.insert(db)
    }
}
