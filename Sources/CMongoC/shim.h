// The C surface of libmongoc and libbson that MeteoMongo uses (Debian libmongoc-dev 1.23,
// pkg-config libmongoc-1.0). bson_t is a struct that the API fills in place, and libbson's
// error type is a struct with a fixed char array, both of which Swift handles directly.
#ifndef METEO_CMONGOC_SHIM_H
#define METEO_CMONGOC_SHIM_H

#include <mongoc/mongoc.h>

#endif
