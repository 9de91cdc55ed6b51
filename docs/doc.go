// Package docs holds the project's own documentation (Markdown beside this file). Its test
// checks that every reference to a doc file in the repository's Go and Markdown resolves to
// a file in the repository, and that nothing points outside it.
package docs
