/** Where the CLI's commands write (the process's streams, or a test's buffers). */
export interface MainIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}
