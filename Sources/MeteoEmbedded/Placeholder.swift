import VaporCSQLite
func _probe() -> Int32 { sqlite_nio_sqlite3_libversion_number() }
