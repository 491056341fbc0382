package protocol

// AppendLoadError appends fail2ban's reply to a message it could not load:
// not a (code, value) tuple but a bare pickled string "ERROR: <reason>",
// which is what fail2ban-server's asyncserver sends. proto is answered as
// AppendReply answers it.
func AppendLoadError(dst []byte, proto int, err error) []byte {
	if proto < 0 {
		proto = 0
	}
	if proto > 2 {
		proto = ReplyProtocol
	}
	dst, body := header(dst, proto)
	dst = appendString(dst, proto, "ERROR: "+err.Error())
	return finish(dst, proto, body)
}
