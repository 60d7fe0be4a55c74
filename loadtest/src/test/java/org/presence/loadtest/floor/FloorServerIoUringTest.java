package org.presence.loadtest.floor;

import org.presence.loadtest.transport.Transport;

/** Every test of {@link FloorServerTest} with the floor's and the harness's sockets on io_uring. */
class FloorServerIoUringTest extends FloorServerTest {
  @Override
  Transport transport() {
    return Transport.IO_URING;
  }
}
