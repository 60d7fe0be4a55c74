package org.presence.loadtest.targets;

/**
 * Who a virtual device is.
 *
 * @param user the virtual user's number, unique in the run
 * @param device a stable device id
 * @param assertion a signed identity token for the user, or empty when the target needs none
 * @param app the number of the app this device's updates go to (0 .. apps-1)
 */
public record DeviceIdentity(long user, String device, String assertion, int app) {}
