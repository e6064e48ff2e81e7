package offline

// DropTableParams is the input of Store.DropTable, which drops Table, a
// table or a view, whichever it is. A table that does not exist is no
// error, so a deletion interrupted after the drop can run again. Dropping
// waits for a CreateTable replacing the same table to finish.
type DropTableParams struct {
	Table string
}
