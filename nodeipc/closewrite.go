package nodeipc

import (
	"context"
	"errors"
	"fmt"
)

// CloseWrite ends the sending side only: it stops accepting new messages,
// waits until every queued message has been written (or ctx is done), then
// shuts down the socket for writing. The peer reads every message and then
// EOF — a Node peer treats that as 'disconnect' and closes its end — while
// Recv goes on returning the peer's messages until it does. Messages the peer
// sends in reply to the last ones are therefore not lost, which they would be
// with Disconnect. Close must still be called to release the channel.
func (c *Channel) CloseWrite(ctx context.Context) error {
	c.w.stopAccepting()
	if err := c.w.flush(ctx); err != nil {
		return err
	}
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("nodeipc: CloseWrite: %w", errors.ErrUnsupported)
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("nodeipc: CloseWrite: %w", err)
	}
	return nil
}
