/// Metadata keys used in Meteo's logs, kept in one place so that they stay consistent.
public enum LoggingKeys {
    public static let source = "meteo.source"
    public static let topic = "meteo.topic"
    public static let group = "meteo.group"
    public static let placeID = "meteo.place.id"
    public static let count = "meteo.count"
    public static let offset = "meteo.offset"
    public static let attempt = "meteo.attempt"
    public static let delay = "meteo.delay"
    public static let status = "meteo.http.status"
    public static let url = "meteo.url"
    public static let error = "meteo.error"
    public static let reason = "meteo.reason"
}
