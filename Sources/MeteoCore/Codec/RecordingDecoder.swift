/// Reads one line of a user's recording (`meteo ingest --source replay`): every form the sink's
/// `auto` format reads, and more, since a recording is the user's own file and the bus is not.
///
/// - a Meteo event (``EventCodec``), and an observation record with the event's field names but
///   no `"v"`, recognised by `place_id` and `observed_at`; both read by
///   ``EventCodec/decodeRecord(_:)``, so that `place_id` may be a JSON integer and `name` and
///   `source` may be left out;
/// - a legacy OpenWeatherMap `box/city` payload (one result per city), an OWM current-weather
///   object, and an OWM error body refused with the provider's message, as ``PayloadFormat/auto``.
///
/// Whatever the bus accepts, this accepts with the same observation; the bus stays strict (a
/// message without `"v"` is dead-lettered there).
public enum RecordingDecoder {
    public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        if let fast = EventCodec.fastDecode(bytes) { return [.success(fast)] }
        return try decode(try JSONValue.parse(bytes))
    }

    /// Decodes an already parsed line.
    public static func decode(_ json: JSONValue) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        if json["v"] != nil || (json["place_id"] != nil && json["observed_at"] != nil) {
            return [Result { () throws(MeteoError) in try EventCodec.decodeRecord(json) }]
        }
        return try PayloadFormat.recognise(json, records: true).decode(json)
    }
}
