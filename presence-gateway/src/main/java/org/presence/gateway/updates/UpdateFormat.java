package org.presence.gateway.updates;

import io.netty.buffer.ByteBuf;
import java.util.List;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.app.AppFrames.SnapshotEntry;
import org.presence.protocol.app.AppFrames.Update;

/**
 * How a connection's frames are written: JSON ({@link #JSON}, the update channel and the stream) or
 * another protocol's (XMPP presence stanzas). Called on the connection's event loop.
 */
public interface UpdateFormat {
  /** One page of a snapshot; {@code last} on the final page. */
  void writeSnapshot(
      List<SnapshotEntry> entries, long seq, boolean fresh, boolean last, ByteBuf out);

  void writeUpdates(List<Update> updates, ByteBuf out);

  void writeReceipts(List<Receipt> receipts, ByteBuf out);

  /** The update channel's JSON frames ({@link AppCodec}). */
  UpdateFormat JSON =
      new UpdateFormat() {
        @Override
        public void writeSnapshot(
            List<SnapshotEntry> entries, long seq, boolean fresh, boolean last, ByteBuf out) {
          AppCodec.writeSnapshot(entries, seq, fresh, last, out);
        }

        @Override
        public void writeUpdates(List<Update> updates, ByteBuf out) {
          AppCodec.writeUpdates(updates, out);
        }

        @Override
        public void writeReceipts(List<Receipt> receipts, ByteBuf out) {
          AppCodec.writeReceipts(receipts, out);
        }
      };
}
