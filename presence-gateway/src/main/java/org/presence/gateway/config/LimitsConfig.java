package org.presence.gateway.config;

/**
 * Caps on what one client may send, so that hostile input costs a bounded amount.
 *
 * @param maxRequestBytes largest HTTP request body; larger ones get 413
 * @param maxHeaderBytes largest HTTP header block; larger ones get 431
 * @param maxInitialLineBytes longest HTTP request line; longer ones get 400
 * @param maxFrameBytes largest WebSocket frame payload; a larger frame ends the session
 */
public record LimitsConfig(
    int maxRequestBytes, int maxHeaderBytes, int maxInitialLineBytes, int maxFrameBytes) {}
