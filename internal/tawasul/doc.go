// Package tawasul holds Tawasul's domain types: staff users and their roles,
// and the error codes every other package returns. It imports nothing else
// from this module; every other package points toward it.
package tawasul
