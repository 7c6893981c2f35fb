/// What the bytes of a bus message are. The sink accepts all of them.
public enum PayloadFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Recognise the format from the JSON itself.
    case auto
    /// Meteo's versioned event (``EventCodec``).
    case event
    /// The original system's OpenWeatherMap `box/city` response (`{"cnt","list":[…]}`).
    case legacyOWM = "legacy-owm"
    /// One OpenWeatherMap current-weather object.
    case owmCurrent = "owm-current"

    public var description: String { rawValue }

    /// Decodes one message into observations. A payload that cannot be read at all throws;
    /// a payload with several cities (legacy box/city) returns one result per city.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        var strings = EventStrings()
        return try decode(bytes, strings: &strings)
    }

    /// ``decode(_:)``, reusing the strings of the events decoded before with the same `strings`
    /// (the sink keeps one per batch).
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes, strings: inout EventStrings) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        if self == .auto || self == .event, let fast = EventCodec.fastDecode(bytes, cache: &strings) { return [.success(fast)] }
        return try decode(try JSONValue.parse(bytes))
    }

    /// Decodes an already parsed message.
    ///
    /// An OpenWeatherMap error body (`{"cod":401,"message":"Invalid API key. …"}`), which the
    /// original producer forwarded as it was, is refused with the provider's own message
    /// (``OpenWeatherMapDecoder/providerError(_:)``) in every format but `event`.
    public func decode(_ json: JSONValue) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        let format = self == .auto ? try Self.recognise(json) : self
        if format != .event, let error = OpenWeatherMapDecoder.providerError(json) { throw error }
        switch format {
        case .auto, .event:
            return [Result { () throws(MeteoError) in try EventCodec.decode(json) }]
        case .legacyOWM:
            return try OpenWeatherMapDecoder.decodeLegacyBox(json)
        case .owmCurrent:
            return [Result { () throws(MeteoError) in try OpenWeatherMapDecoder.decodeCity(json) }]
        }
    }

    /// The format of a JSON message, from its fields. `records` adds the observation record of
    /// a recording (`place_id` and `observed_at`) to what the refusal lists.
    static func recognise(_ json: JSONValue, records: Bool = false) throws(MeteoError) -> PayloadFormat {
        if json["v"] != nil { return .event }
        if json["list"] != nil { return .legacyOWM }
        if json["coord"] != nil { return .owmCurrent }
        if let error = OpenWeatherMapDecoder.providerError(json) { throw error }
        throw MeteoError(code: .malformedPayload,
                         "unrecognised payload: neither \(records ? "an observation (fields 'place_id' and 'observed_at'), " : "")a Meteo event (field 'v'), a box/city response (field 'list') nor an OpenWeatherMap object (field 'coord')")
    }
}
