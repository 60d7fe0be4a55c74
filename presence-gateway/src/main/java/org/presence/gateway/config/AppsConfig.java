package org.presence.gateway.config;

import java.time.Duration;

/**
 * Application registration and domain proof (wiki section 2).
 *
 * @param verifyTimeout the whole fetch of {@code http://<domain>/__presence} (resolve, connect,
 *     answer) must finish within this
 * @param verifyMaxBytes largest body the proof fetch reads; a longer one fails the proof
 * @param maxPerDeveloper applications one developer may register
 */
public record AppsConfig(Duration verifyTimeout, int verifyMaxBytes, int maxPerDeveloper) {}
