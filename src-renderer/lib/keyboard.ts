// Keyboard shortcuts of the stem editor: space play/pause, arrows seek, M/S mute/solo the focused stem, [ and ] set
// the loop's start and end at the playhead, L loops on and off.
// Pure: the component passes the key and what has focus, and gets an action back.

export type KeyAction =
  | { kind: 'toggle-play' }
  | { kind: 'seek-by'; seconds: number }
  | { kind: 'seek-to'; seconds: number }
  | { kind: 'mute'; source: string }
  | { kind: 'solo'; source: string }
  | { kind: 'loop-start-here' }
  | { kind: 'loop-end-here' }
  | { kind: 'toggle-loop' };

export interface KeyInput {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** Tag of the focused element, lower case, and its type for inputs. */
  targetTag: string;
  targetType?: string;
  /** The stem whose row holds the focus, if any. */
  focusedStem: string | null;
}

export function keyAction(k: KeyInput): KeyAction | null {
  if (k.ctrlKey || k.metaKey || k.altKey) return null;
  // Typing in a field, moving a slider or choosing in a list keeps its own keys.
  if (k.targetTag === 'input' || k.targetTag === 'textarea' || k.targetTag === 'select') return null;
  const onButton = k.targetTag === 'button';
  switch (k.key) {
    case ' ':
      return onButton ? null : { kind: 'toggle-play' };
    case 'ArrowLeft':
      return { kind: 'seek-by', seconds: k.shiftKey ? -1 : -5 };
    case 'ArrowRight':
      return { kind: 'seek-by', seconds: k.shiftKey ? 1 : 5 };
    case 'Home':
      return { kind: 'seek-to', seconds: 0 };
    case 'm':
    case 'M':
      return k.focusedStem ? { kind: 'mute', source: k.focusedStem } : null;
    case 's':
    case 'S':
      return k.focusedStem ? { kind: 'solo', source: k.focusedStem } : null;
    case '[':
      return { kind: 'loop-start-here' };
    case ']':
      return { kind: 'loop-end-here' };
    case 'l':
    case 'L':
      return { kind: 'toggle-loop' };
    default:
      return null;
  }
}
