import { Body, Controller, Post } from '@inversifyjs/http-core';
import { inject } from 'inversify';
import { NoteService } from './usage.js';

/** Controller and NoteService get the same Session: the one of the current request. */
@Controller('/notes')
export class NotesController {
  constructor(@inject(NoteService) private readonly notes: NoteService) {}

  @Post()
  add(@Body() body: { body: string }) {
    return this.notes.add(body.body);
  }
}
