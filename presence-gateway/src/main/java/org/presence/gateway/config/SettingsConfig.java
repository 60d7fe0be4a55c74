package org.presence.gateway.config;

/**
 * Limits on users' settings ({@code settings.*}): every saved change of a user's policy or messages
 * is one update per grant of the user in each application's log, so that one user cannot push
 * everyone else's updates out of an application's bounded log (docs/apps-api.md#limits-on-grants);
 * every read through the JSON API is a database read.
 *
 * @param rate saved changes one user may make per second, counted across every node of a cluster
 * @param burst saved changes one user may make at once
 * @param readRate reads of {@code GET /api/settings} one user may make per second on each node
 * @param readBurst reads of {@code GET /api/settings} one user may make at once on each node
 */
public record SettingsConfig(double rate, int burst, double readRate, int readBurst) {}
